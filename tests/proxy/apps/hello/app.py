import streamlit as st

st.title("Streamlit demo space")
st.write(f"Hello, {st.query_params.get('name', 'world')}!")
